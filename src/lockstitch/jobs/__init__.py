"""Background work and its timing: schedules (interval, anchor, Quartz cron) and job records."""
