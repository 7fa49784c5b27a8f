"""The Textual wizard: the app, its `.tcss`, screens, widgets and the demo. The only package
that imports textual."""
