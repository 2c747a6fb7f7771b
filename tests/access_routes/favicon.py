"""The site icon: public, like the static files."""

from tests.access_routes import expect

ROUTES = {
    "main.favicon": ("GET", "/favicon.ico", expect(200, anon=200)),
}
