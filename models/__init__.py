"""Language Model Lab models: torch and numpy only, never streamlit."""
