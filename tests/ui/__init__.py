"""Tests of the Streamlit configurator."""
