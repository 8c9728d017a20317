"""The rotaplan configurator (Streamlit): pages over the rotaplan package."""
