// kafkajs transactions: a committed and an aborted transaction on TOPIC, offsets sent to
// GROUP inside the committed one, a zombie producer fenced by a newer one with the same
// transactional id; then a read_committed consumer prints what it sees.
// Usage: node transactions.js BROKER TOPIC GROUP
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [broker, topic, group] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: "kafkajs-txn", brokers: [broker], logLevel: logLevel.NOTHING });
  const transactionalId = `${topic}-tx`;
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const committed = await producer.transaction();
  await committed.send({ topic, messages: [{ value: "kept-1" }, { value: "kept-2" }] });
  await committed.sendOffsets({
    consumerGroupId: group,
    topics: [{ topic, partitions: [{ partition: 0, offset: "2" }] }],
  });
  await committed.commit();

  const aborted = await producer.transaction();
  await aborted.send({ topic, messages: [{ value: "dropped" }] });
  await aborted.abort();

  // A newer producer with the same transactional id fences the first one.
  const open = await producer.transaction();
  await open.send({ topic, messages: [{ value: "zombie" }] });
  const newer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await newer.connect();
  const last = await newer.transaction(); // InitProducerId: bumps the epoch, aborts "zombie"
  let fenced = null;
  try {
    await open.commit();
  } catch (error) {
    fenced = error.type || error.name;
  }
  await last.send({ topic, messages: [{ value: "kept-3" }] });
  await last.commit();
  await newer.disconnect();
  await producer.disconnect().catch(() => {});

  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  await admin.disconnect();

  const consumer = kafka.consumer({ groupId: `${group}-reader`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), 20000);
    consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value.toString());
        if (values.length >= 3) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  console.log(JSON.stringify({ event: "done", fenced, offsets, values }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
