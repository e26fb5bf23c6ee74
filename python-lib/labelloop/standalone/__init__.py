"""labelloop without DSS: project folders, the server, the retrain loop, the command line,
export, demos and the DSS plugin archive (DESIGN.md section 7)."""
