"""Opens N connections, prints 'holding N', and keeps them idle until killed."""
import sys, time
import psycopg2

host, port, user, password, db, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
conns = []
for i in range(n):
    conns.append(psycopg2.connect(host=host, port=port, user=user, password=password, dbname=db, sslmode="disable"))
time.sleep(2)  # let the proxy settle its buffers before the RSS reading
print(f"holding {len(conns)}", flush=True)
time.sleep(600)
