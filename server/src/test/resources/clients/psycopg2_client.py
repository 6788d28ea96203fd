# psycopg2 as an agent uses it: named (server-side) cursor, copy_expert out of a small table,
# parameterised execute. Prints one line per check; the Java test compares them.
import io
import os
import sys

import psycopg2

conn = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2], password=os.environ["AGENT_PW"],
                        dbname="shop", sslmode="disable", application_name="psycopg2-client")

with conn.cursor("product_walk") as named:
    named.itersize = 5
    named.execute("SELECT id, name FROM products ORDER BY id")
    ids = [row[0] for row in named]
print("named:" + ",".join(str(i) for i in ids))
conn.commit()

buf = io.StringIO()
with conn.cursor() as cur:
    cur.copy_expert("COPY (SELECT id, name FROM products) TO STDOUT WITH CSV", buf)
lines = [l for l in buf.getvalue().splitlines() if l]
print("copy:%d:%s" % (len(lines), lines[0]))

with conn.cursor() as cur:
    cur.execute("SELECT id, name, price FROM products WHERE id = %s AND name = %s", (3, "product 3"))
    row = cur.fetchone()
print("param:%d:%s:%s" % (row[0], row[1], row[2]))

with conn.cursor() as cur:
    cur.execute("SELECT name FROM products WHERE id IN %s ORDER BY id", ((4, 5),))
    print("tuple:" + ",".join(r[0] for r in cur.fetchall()))
conn.commit()
conn.close()
print("done")
