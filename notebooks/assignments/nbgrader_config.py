"""nbgrader's configuration for the Frameworks Lab course (this folder is the course
directory: source/ holds the instructor's notebooks, nbgrader writes release/,
submitted/, autograded/, feedback/ and gradebook.db beside it).

Run nbgrader from this folder (`cd notebooks/assignments`), or from the repository root
with `make assignments`. See README.md here for the whole workflow.
"""

c = get_config()  # noqa: F821  (nbgrader provides get_config when it loads this file)

# The course's name on the hub's exchange; change it to your course's id.
c.CourseDirectory.course_id = "frameworks-lab"

# Each cell may run this many seconds while autograding; then the kernel is interrupted,
# the cell counts as failed and grading goes on with the next cell. The first cell of an
# assignment imports PyTorch or TensorFlow, which takes a while on a busy machine, so
# this is generous; the tests themselves have tighter limits of their own
# (lessons.assignments.time_limit, LIMIT in each notebook).
c.Execute.timeout = 120
