"""What `streamlit run` serves (dashboards/serve.py builds the command): the app of app.py as an `st.App`,
with the headers that forbid framing by other sites on every HTTP response."""

import streamlit as st
from starlette.middleware import Middleware

from dashboards.serve import FrameHeaders

app = st.App("app.py", middleware=[Middleware(FrameHeaders)])
