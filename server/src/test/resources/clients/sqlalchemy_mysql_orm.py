# SQLAlchemy's ORM on MySQL through PyMySQL: the dialect's connection set-up, create_all, session
# add/query/update/commit, a rolled-back session, reflection of the whole schema, then a sample of
# one table. argv: port, agent, database, table to sample. Password in AGENT_PW.
import os
import sys

import sqlalchemy
from sqlalchemy import Column, Integer, MetaData, Numeric, String, create_engine, select, text
from sqlalchemy.orm import Session, declarative_base

url = "mysql+pymysql://%s:%s@127.0.0.1:%s/%s?charset=utf8mb4" % (sys.argv[2], os.environ["AGENT_PW"], sys.argv[1], sys.argv[3])
engine = create_engine(url, future=True)
Base = declarative_base()


class Ticket(Base):
    __tablename__ = os.environ.get("TICKETS_TABLE", "tickets")
    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String(80), nullable=False)
    cost = Column(Numeric(10, 2))


Base.metadata.create_all(engine)
with Session(engine) as session:
    session.add_all([Ticket(title="first", cost=1.5), Ticket(title="second's", cost=2), Ticket(title="third")])
    session.commit()
    second = session.execute(select(Ticket).where(Ticket.title == "second's")).scalar_one()
    second.cost = 7
    session.commit()
    print("orm:" + ",".join("%s=%s" % (t.title, t.cost) for t in session.execute(select(Ticket).order_by(Ticket.id)).scalars()))
with Session(engine) as session:
    session.add(Ticket(title="never"))
    session.flush()
    session.rollback()
    print("after-rollback:%d" % len(session.execute(select(Ticket)).scalars().all()))
meta = MetaData()
meta.reflect(bind=engine)
print("tables:" + ",".join(sorted(meta.tables)))
insp = sqlalchemy.inspect(engine)
print("columns:" + ",".join(c["name"] for c in insp.get_columns("products")))
with engine.connect() as conn:
    rows = conn.execute(text("SELECT * FROM %s LIMIT 3" % sys.argv[4])).fetchall()
print("rows:%d" % len(rows))
for r in rows:
    print("row:" + "|".join(str(v) for v in r))
engine.dispose()
print("done")
