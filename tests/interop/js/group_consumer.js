// A kafkajs consumer-group member: produces COUNT records, consumes them in group GROUP,
// commits, and prints one JSON line per record and {"event": "done"} at the end.
// Usage: node group_consumer.js BROKER TOPIC GROUP COUNT
const { Kafka, logLevel } = require("kafkajs");

async function main() {
  const [broker, topic, group, countText] = process.argv.slice(2);
  const count = Number(countText);
  const kafka = new Kafka({ clientId: "kafkajs-interop", brokers: [broker], logLevel: logLevel.ERROR });
  const producer = kafka.producer();
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({ value: String(i), partition: i % 2 }));
  await producer.send({ topic, messages });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), 60000);
    consumer.run({
      eachMessage: async ({ partition, message }) => {
        console.log(JSON.stringify({ event: "record", partition, offset: message.offset, value: message.value.toString() }));
        seen += 1;
        if (seen >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.commitOffsets([]);
  await consumer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const groups = await admin.listGroups();
  await admin.disconnect();
  console.log(JSON.stringify({ event: "done", offsets, groups }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
