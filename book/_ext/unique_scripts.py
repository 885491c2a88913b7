"""Each inline <script> of a page once, not twice.

Sphinx 7.4 registers a script that an extension adds after the builder has started twice:
once as filename None (Sphinx.add_js_file) and once as "" (the builder's re-read of the
registry), and the two do not compare equal. sphinx-thebe adds `const THEBE_JS_URL = ...`
that way, so every page of a Jupyter Book 1 declared it twice and the browser logged
"SyntaxError: Identifier 'THEBE_JS_URL' has already been declared" (tests/test_site.py).
Jupyter Book 1 pins Sphinx 7, so the book drops the copies itself.
"""


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the builder restores its own list after each page


def setup(app):
    # Late (priority 900), after the extensions that add a page's own scripts (MathJax).
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
