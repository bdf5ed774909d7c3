"""Sources: CRUD, property rules, and the report-card state they are in.

POST/PUT body --service--> naming (display_name -> name)
                           properties (json_schema, property_type rules, credentials)
                           schedule (Quartz cron, interval)
              --repository--> sources row (+ encrypted credentials), connection check queued
              --views--> Stitch Source object with its report card
"""
