"""Replication jobs, their extractions, logs and loads (spec 2.7, 2.8, 3.12, 3.13).

POST   /v4/sources/{id}/sync    --service--> jobs.queue.enqueue_extraction (pending row) --> worker
DELETE /v4/sources/{id}/sync    --service--> pending: cancelled now; running: cancel_requested_at
                                             (the runner kills the process group)
GET    /v4/{client}/extractions --repository--> last completed extraction per source --views-->
GET    /v4/{client}/loads       --repository--> last load attempt per stream        --views-->
GET    /v4/{client}/extractions/{job_name} --> 302 to a signed /logs URL (log_urls)
GET    /logs/{job_name}?expires&signature  --> the extraction's log, text/plain
"""
