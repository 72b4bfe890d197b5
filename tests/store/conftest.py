pytest_plugins = ["tests.mongo_fixtures"]
