"""Launch buttons on the exercise pages only.

The launch buttons (Binder, Colab, JupyterHub) open a page's source in the students'
repository (``repository.url`` of _config.yml, written by ``make student-release``), which
holds exercises/ and not the chapters; and Colab cannot open a chapter's Markdown anyway.
sphinx-book-theme 1.3 adds the buttons to every page that has a kernel, with no per-page
setting, so this drops them, after the theme (priority 501) has added them, from every
page outside exercises/.
"""

LAUNCH_GROUP = "launch-buttons"  # the label sphinx-book-theme gives the group


def drop_launch_buttons(app, pagename, templatename, context, doctree):
    if pagename.startswith("exercises/"):
        return
    buttons = context.get("header_buttons")
    if buttons:
        buttons[:] = [b for b in buttons if b.get("label") != LAUNCH_GROUP]


def setup(app):
    app.connect("html-page-context", drop_launch_buttons, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
