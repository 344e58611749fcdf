"""The suite's fixtures come from the plugins in tests/plugins/; helpers live in tests/support/."""

pytest_plugins = [
    "tests.plugins.services",
    "tests.plugins.database",
    "tests.plugins.shops",
    "tests.plugins.receiver",
    "tests.plugins.dashboard",
    "tests.plugins.fake_admin",
    "tests.plugins.browser",
]
