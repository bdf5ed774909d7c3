"""Background work and its timing: schedules (interval, anchor, Quartz cron), job records and
the Connection Check object (``check_views``), below the sources and destinations that use them."""
