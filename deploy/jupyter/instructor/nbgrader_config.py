"""The instructor's course directory on the hub: ~/<course id> (a copy of
notebooks/assignments), whose own nbgrader_config.py is read too."""

import os

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

course_dir = os.path.expanduser(os.path.join("~", os.environ.get("COURSE_ID", "frameworks-lab")))
c.CourseDirectory.root = course_dir
load_subconfig(os.path.join(course_dir, "nbgrader_config.py"))  # noqa: F821
