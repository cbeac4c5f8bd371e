# Task.origin ("interaction:123" strings) becomes a foreign key to the interaction that made the task.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def origin_to_interaction(apps, schema_editor):
    Task = apps.get_model("crm", "Task")
    Interaction = apps.get_model("comms", "Interaction")
    for task in Task.objects.filter(origin__startswith="interaction:").only("pk", "origin").iterator():
        pk = task.origin.removeprefix("interaction:")
        if pk.isdigit() and Interaction.objects.filter(pk=int(pk)).exists():
            Task.objects.filter(pk=task.pk).update(interaction_id=int(pk))


def interaction_to_origin(apps, schema_editor):
    Task = apps.get_model("crm", "Task")
    for task in Task.objects.filter(interaction__isnull=False).only("pk", "interaction_id").iterator():
        Task.objects.filter(pk=task.pk).update(origin=f"interaction:{task.interaction_id}")


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0005_telephonyprovider_live_routing"),
        ("crm", "0002_task"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="interaction",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tasks",
                to="comms.interaction",
                verbose_name="interaction",
            ),
        ),
        migrations.RunPython(origin_to_interaction, interaction_to_origin),
        migrations.RemoveConstraint(model_name="task", name="crm_task_origin_unique"),
        migrations.RemoveField(model_name="task", name="origin"),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.UniqueConstraint(
                condition=models.Q(("interaction__isnull", False), ("kind", "call_back")),
                fields=("interaction",),
                name="crm_task_one_call_back_per_interaction",
            ),
        ),
    ]
