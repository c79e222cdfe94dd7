"""The rabbitmq secrets engine: RabbitMQ users on demand, each with a lease."""
