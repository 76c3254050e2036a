"""The unmanaged Event model in Django's migration state.

0001 makes the table with SQL (partitions, indexes, functions); this only
records the model, so makemigrations and migrate stop reporting changes.
It touches no table: the model is managed=False.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("streaming", "0002_stream_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                ("message_id_stamp", models.UUIDField(primary_key=True, serialize=False)),
                ("timestamp_stamp", models.DateTimeField()),
                ("correlation_id", models.UUIDField()),
                ("type", models.TextField()),
                ("target_subscription", models.TextField()),
                ("new_context_account_id", models.UUIDField()),
                ("new_context_user_id", models.UUIDField()),
                ("data", models.JSONField(help_text="The whole enriched event: data, attributes and metadata.")),
            ],
            options={
                "db_table": "events",
                "ordering": ("-timestamp_stamp",),
                "managed": False,
            },
        ),
    ]
