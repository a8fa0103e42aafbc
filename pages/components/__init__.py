"""Building blocks shared by the pages: figures, widgets, safe token HTML, cached models."""
