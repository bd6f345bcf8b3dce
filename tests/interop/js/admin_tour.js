// kafkajs admin and producer calls against one broker, each printed as one JSON line
// {"step", "ok", "result" | "error"} for the test to check.
// Usage: node admin_tour.js BROKER TOPIC
const { Kafka, logLevel, ConfigResourceTypes, CompressionTypes } = require("kafkajs");

async function main() {
  const [broker, topic] = process.argv.slice(2);
  const kafka = new Kafka({
    clientId: "kafkajs-admin-tour",
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const step = async (name, call) => {
    try {
      const result = await call();
      console.log(JSON.stringify({ step: name, ok: true, result: result === undefined ? null : result }));
    } catch (error) {
      console.log(JSON.stringify({ step: name, ok: false, error: error.type || error.name }));
    }
  };
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
  await producer.connect();
  const base = Date.now() - 60000;
  try {
    await step("createTopics", () =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 2, configEntries: [{ name: "retention.ms", value: "3600000" }] }],
      }),
    );
    await step("createTopicsAgain", () => admin.createTopics({ topics: [{ topic }] }));
    await step("createBadName", () => admin.createTopics({ topics: [{ topic: "bad name" }] }));
    await step("fetchTopicMetadata", () => admin.fetchTopicMetadata({ topics: [topic] }));
    await step("fetchUnknownMetadata", () => admin.fetchTopicMetadata({ topics: [`${topic}-absent`] }));
    await step("send", () =>
      producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: Array.from({ length: 6 }, (_, i) => ({
          key: `k${i}`,
          value: i === 5 ? null : `v${i}`,
          partition: 0,
          timestamp: String(base + i * 1000),
          headers: { h: `${i}` },
        })),
      }),
    );
    await step("sendTooLarge", () =>
      producer.send({ topic, messages: [{ value: Buffer.alloc(2000000), partition: 1 }] }),
    );
    await step("fetchTopicOffsets", () => admin.fetchTopicOffsets(topic));
    await step("fetchTopicOffsetsByTimestamp", () => admin.fetchTopicOffsetsByTimestamp(topic, base + 2500));
    await step("describeConfigs", async () => {
      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ["retention.ms", "cleanup.policy"] }],
        includeSynonyms: false,
      });
      return described.resources[0].configEntries.map((entry) => [entry.configName, entry.configValue, entry.isDefault]);
    });
    await step("deleteTopicRecords", () => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "2" }] }));
    await step("deleteBeyondEnd", () => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: "99" }] }));
    await step("offsetsAfterDelete", () => admin.fetchTopicOffsets(topic));
    await step("createPartitions", () => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }));
    await step("deleteTopics", () => admin.deleteTopics({ topics: [topic] }));
    await step("listTopics", () => admin.listTopics());
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
