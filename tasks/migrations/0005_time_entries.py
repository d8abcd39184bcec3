# Time entries (timer and manual time) with their history. Written for the time-tracking
# issue; it holds only TimeEntry and HistoricalTimeEntry.

import datetime

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0004_reports_feeds_imports'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalTimeEntry',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('started_at', models.DateTimeField(verbose_name='start')),
                ('ended_at', models.DateTimeField(blank=True, help_text='Empty while the timer runs.', null=True, verbose_name='end')),
                ('duration', models.DurationField(blank=True, help_text='Set when the timer stops, or typed in.', null=True)),
                ('has_clock_times', models.BooleanField(default=True, editable=False)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('billable', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('updated_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('task', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tasks.task')),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical time entry',
                'verbose_name_plural': 'historical time entries',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='TimeEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(verbose_name='start')),
                ('ended_at', models.DateTimeField(blank=True, help_text='Empty while the timer runs.', null=True, verbose_name='end')),
                ('duration', models.DurationField(blank=True, help_text='Set when the timer stops, or typed in.', null=True)),
                ('has_clock_times', models.BooleanField(default=True, editable=False)),
                ('note', models.CharField(blank=True, max_length=500)),
                ('billable', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('task', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='time_entries', to='tasks.task')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='time_entries', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'time entries',
                'ordering': ['-started_at', '-pk'],
                'indexes': [models.Index(fields=['task', 'started_at'], name='time_entry_task_start'), models.Index(fields=['user', 'started_at'], name='time_entry_user_start')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('user',), name='one_running_timer_per_user', violation_error_message='You already have a timer running.'), models.CheckConstraint(condition=models.Q(('ended_at__isnull', True), ('ended_at__gte', models.F('started_at')), _connector='OR'), name='time_entry_end_not_before_start', violation_error_message='The end cannot be before the start.'), models.CheckConstraint(condition=models.Q(('duration__isnull', True), ('duration__gte', datetime.timedelta(0)), _connector='OR'), name='time_entry_duration_not_negative', violation_error_message='The duration cannot be negative.')],
            },
        ),
    ]
