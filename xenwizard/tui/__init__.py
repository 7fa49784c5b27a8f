"""The Textual wizard: the app, its `.tcss`, screens, widgets, the demo and its launch.

The only package that imports textual."""
