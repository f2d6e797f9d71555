"""The distribution-mode stack (`dist`) for every test of this folder that installs twoway through OAuth."""

from tests.twoway.test_distribution import dist  # noqa: F401 - a fixture, found by name
