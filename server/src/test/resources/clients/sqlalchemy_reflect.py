# What LLM SQL toolkits do at start: reflect the whole schema with SQLAlchemy, then sample a table.
# argv: port, agent, table to sample. Prints the reflected tables and the sampled rows.
import os
import sys

import sqlalchemy
from sqlalchemy import MetaData, create_engine, text

url = "postgresql+psycopg2://%s:%s@127.0.0.1:%s/shop?sslmode=disable" % (sys.argv[2], os.environ["AGENT_PW"], sys.argv[1])
engine = create_engine(url)
meta = MetaData()
meta.reflect(bind=engine)
print("tables:" + ",".join(sorted(meta.tables)))
print("fks:" + ",".join(sorted("%s->%s" % (fk.parent.table.name + "." + fk.parent.name, fk.column.table.name)
                              for t in meta.tables.values() for fk in t.foreign_keys)))
insp = sqlalchemy.inspect(engine)
print("views:" + ",".join(sorted(insp.get_view_names())))
print("indexes:" + ",".join(sorted(i["name"] for i in insp.get_indexes("orders"))))
with engine.connect() as conn:
    rows = conn.execute(text("SELECT * FROM %s LIMIT 3" % sys.argv[3])).fetchall()
print("rows:%d" % len(rows))
for r in rows:
    print("row:" + "|".join(str(v) for v in r))
engine.dispose()
print("done")
