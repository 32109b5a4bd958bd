"""The demo sample shipped inside the package (see PROVENANCE.md)."""
