// Ollama's npm client against a jseek server (argument: its base URL). Prints one JSON object of what came back;
// OllamaClientTest checks it.
import { Ollama } from 'ollama';

const host = process.argv[2].replace(/\/$/, '');
const ollama = new Ollama({ host });
const out = {};

const version = await ollama.version();
out.version = version.version;
const list = await ollama.list();
out.tags = list.models.map((m) => m.name);
const show = await ollama.show({ model: 'test-model' });
out.capabilities = show.capabilities;

const chat = await ollama.chat({
  model: 'test-model',
  messages: [{ role: 'user', content: 'Hi' }],
  think: false,
  options: { num_predict: 8, temperature: 0, seed: 1 },
});
out.chat = { content: chat.message.content, done: chat.done, done_reason: chat.done_reason, eval_count: chat.eval_count,
  prompt_eval_count: chat.prompt_eval_count };

const stream = await ollama.chat({
  model: 'test-model',
  messages: [{ role: 'user', content: 'Hi' }],
  stream: true,
  options: { num_predict: 12, seed: 2 },
});
let parts = 0;
let text = '';
let thinking = '';
let last = null;
for await (const part of stream) {
  parts++;
  text += part.message.content;
  thinking += part.message.thinking ?? '';
  last = part;
}
out.stream = { parts, text, thinking, done: last.done, eval_count: last.eval_count };

const gen = await ollama.generate({ model: 'test-model', prompt: 'Hi', think: false, stream: false, options: { num_predict: 5 } });
out.generate = { response: gen.response, done: gen.done };

const structured = await ollama.chat({
  model: 'test-model',
  messages: [{ role: 'user', content: 'How old?' }],
  think: false,
  format: { type: 'object', properties: { age: { type: 'integer', minimum: 18, maximum: 20 } }, required: ['age'] },
  options: { num_predict: 40, temperature: 1, seed: 3 },
});
out.structured = structured.message.content;

console.log(JSON.stringify(out));
