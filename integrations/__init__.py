"""How this project reaches its services: Kafka, the S3 store, the Schema Registry.

Each service's configuration is a plain, picklable value (so that the Beam
job's workers get it without Django), built once from the settings in
`integrations.clients`, which also holds this process's one client of each.
"""
