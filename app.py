"""Language Model Lab: ``streamlit run app.py``. The router lives in pages/components/router.py."""
from pages.components.router import run

run()
