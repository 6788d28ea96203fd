// node-postgres as an agent uses it: array parameters, a parameterised insert-free read.
// argv: port, agent; the password comes from AGENT_PW.
const { Client } = require('pg');

(async () => {
  const client = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: process.argv[3],
    password: process.env.AGENT_PW, database: 'shop', ssl: false, application_name: 'node-pg-client' });
  // Known product bug (reported to the lead): after client.end() sends Terminate, the proxy can
  // see the backend close first and send the agent FATAL 08006 instead of closing quietly. Report
  // it on its own line rather than crashing on an unhandled 'error' event, so the Java test can
  // tell it apart from a failure of the queries.
  client.on('error', e => console.log('teardown-error:' + (e.code || '') + ':' + e.message));
  await client.connect();
  const any = await client.query('SELECT id, name FROM products WHERE id = ANY($1::int[]) ORDER BY id', [[1, 2, 3]]);
  console.log('any:' + any.rows.map(r => r.id + '=' + r.name).join(','));
  const named = await client.query({ name: 'by-category', text: 'SELECT count(*)::int AS n FROM products WHERE category_id = $1', values: [2] });
  console.log('named:' + named.rows[0].n);
  const again = await client.query({ name: 'by-category', values: [1] });
  console.log('again:' + again.rows[0].n);
  const tags = await client.query('SELECT tags FROM products WHERE id = $1', [7]);
  console.log('tags:' + JSON.stringify(tags.rows[0].tags));
  console.log('queries-done');
  await client.end();
})().catch(e => { console.error('node-pg failed: ' + (e.code || '') + ' ' + e.message); process.exit(2); });
