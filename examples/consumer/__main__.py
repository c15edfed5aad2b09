"""redis-consumer: see README.md. The program lives in consumer.py so tests can import it."""

import consumer

consumer.main()
