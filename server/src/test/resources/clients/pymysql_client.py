# What an agent on PyMySQL does all day: connect (PyMySQL's own SET/SHOW traffic included), read,
# write with parameters it escapes itself, UPDATE with WHERE, commit and roll back transactions.
# argv: port, agent, database. Password in AGENT_PW. Prints one line per step.
import os
import sys

import pymysql

conn = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2], password=os.environ["AGENT_PW"],
                       database=sys.argv[3], charset="utf8mb4", autocommit=False)
cur = conn.cursor()
cur.execute("SELECT VERSION()")
print("version:" + ("ok" if cur.fetchone()[0] else "none"))
cur.execute("SHOW TABLES")
# (the SQLAlchemy tests' tickets tables may be there too, depending on test order)
print("tables:" + ",".join(sorted(r[0] for r in cur.fetchall() if not r[0].startswith("tickets"))))
cur.execute("SELECT id, name, price FROM products WHERE id <= %s ORDER BY id", (3,))
print("select:" + ",".join("%d=%s=%s" % r for r in cur.fetchall()))
# PyMySQL escapes parameters client side: quotes, backslashes, NUL, emoji and NULL reach the server as literals
tricky = "it's a \\ back'slash \"quote\" -- not a comment; DROP TABLE products; \U0001F600"
cur.execute("INSERT INTO notes (id, body, amount) VALUES (%s, %s, %s)", (1, tricky, None))
cur.executemany("INSERT INTO notes (id, body, amount) VALUES (%s, %s, %s)", [(2, "two", 2.5), (3, "three", 3.25)])
conn.commit()
cur.execute("SELECT body, amount FROM notes WHERE id = %s", (1,))
body, amount = cur.fetchone()
print("escaped:" + ("same" if body == tricky and amount is None else "DIFFERENT %r" % body))
n = cur.execute("UPDATE products SET price = price + 1 WHERE id = %s", (2,))
conn.commit()
cur.execute("SELECT price FROM products WHERE id = 2")
print("update:%d:%s" % (n, cur.fetchone()[0]))
conn.begin()
cur.execute("INSERT INTO notes (id, body) VALUES (%s, %s)", (4, "rolled back"))
conn.rollback()
cur.execute("SELECT COUNT(*) FROM notes")
print("rollback:%d" % cur.fetchone()[0])
with conn.cursor(pymysql.cursors.DictCursor) as d:
    d.execute("SELECT id, body FROM notes WHERE body IN %s ORDER BY id", (("two", "three"),))
    print("dict:" + ",".join("%(id)d:%(body)s" % r for r in d.fetchall()))
conn.ping(reconnect=False)
conn.close()
print("done")
