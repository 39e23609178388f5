"""Reports: figures and tables made from analysis results (the end of the pipeline)."""
