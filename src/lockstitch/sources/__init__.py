"""Sources: CRUD, property rules, and the report-card state they are in.

POST/PUT body --service--> kit.naming (display_name -> name)
                           properties (json_schema, property_type rules, credentials)
                           schedule (jobs.quartz cron, interval)
                           OAuth values -> oauth.ownership, through oauth_port
              --repository--> sources row (+ encrypted credentials), connection check queued
              --views--> Stitch Source object with its report card
"""
