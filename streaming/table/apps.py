from django.apps import AppConfig


class EventsTableConfig(AppConfig):
    """The events table: its model, migrations, monthly partitions and the COPY the stream writes with."""

    name = "streaming.table"
    # The label the table's migrations were recorded under when the app was the whole of `streaming`:
    # a database migrated before the move keeps its history.
    label = "streaming"
    verbose_name = "Events table (written by the stream)"
