"""``storyboard serve``: the live board, a local web app on uvicorn and starlette.

``live`` holds the state (compile on save, preview builds in the background, the event stream),
``app`` the HTTP side (routes, the token, the checks against other sites), ``page`` the HTML.
Only the CLI imports this package; it imports the build and the views.
"""
