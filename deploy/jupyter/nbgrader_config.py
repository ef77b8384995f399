"""nbgrader's settings for everyone's server on the course's hub (deploy/jupyterhub_config.py
puts this folder on each server's JUPYTER_CONFIG_PATH and sets the variables read here)."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

# Assignments, submissions and feedback travel through this shared directory.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# A fetched assignment lands in ~/<course>/<assignment>/, so courses never mix.
c.Exchange.path_includes_course = True
# Who takes which course is asked of the hub: its groups nbgrader-<course> (students)
# and formgrade-<course> (instructors).
c.Authenticator.plugin_class = "nbgrader.auth.JupyterHubAuthPlugin"
