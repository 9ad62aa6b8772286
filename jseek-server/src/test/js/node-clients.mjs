// The OpenAI, LangChain and AI SDK clients for Node against a jseek server (arguments: its /v1 base URL and an
// API key). Prints one JSON object of what came back; NodeClientsTest checks it. The server's model has random
// weights, so anything well formed here is the grammar's doing.
import OpenAI from 'openai';
import { ChatDeepSeek } from '@langchain/deepseek';
import { createDeepSeek } from '@ai-sdk/deepseek';
import { generateObject, generateText, tool } from 'ai';
import { z } from 'zod';

const [baseURL, apiKey] = process.argv.slice(2);
const out = {};
const person = z.object({
  name: z.string().max(12),
  age: z.number().int().min(0).max(120),
  role: z.enum(['admin', 'user']),
});

async function step(name, fn) {
  try {
    out[name] = await fn();
  } catch (e) {
    // The AI SDK's errors carry the text that failed and why: keep them, so that a failure says what came back.
    out[name] = { error: String(e?.message ?? e), text: e?.text, finish: e?.finishReason, cause: e?.cause?.message };
  }
}

// openai (Node): strict json_schema, streaming, tool_choice required.
const openai = new OpenAI({ baseURL, apiKey });
const schema = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 10 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
  required: ['city', 'days'],
  additionalProperties: false,
};
await step('openaiSchema', async () => {
  const r = await openai.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'Plan a trip.' }],
    response_format: { type: 'json_schema', json_schema: { name: 'trip', strict: true, schema } },
    temperature: 1,
    seed: 5,
  });
  return { content: r.choices[0].message.content, finish: r.choices[0].finish_reason, schema };
});
await step('openaiStream', async () => {
  const s = await openai.chat.completions.create({
    model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true, max_tokens: 6,
  });
  let text = '';
  let chunks = 0;
  for await (const c of s) {
    chunks++;
    text += c.choices[0]?.delta?.content ?? '';
  }
  return { chunks, text };
});
await step('openaiRequired', async () => {
  const r = await openai.chat.completions.create({
    model: 'deepseek-chat',
    messages: [{ role: 'user', content: 'Weather?' }],
    tools: [{ type: 'function', function: { name: 'get_weather', parameters: schema } }],
    tool_choice: 'required',
    temperature: 1,
    seed: 6,
  });
  const call = r.choices[0].message.tool_calls?.[0];
  return { name: call?.function?.name, arguments: call?.function?.arguments, finish: r.choices[0].finish_reason };
});

// LangChain (@langchain/deepseek): withStructuredOutput, both methods.
const lc = new ChatDeepSeek({ model: 'deepseek-chat', apiKey, configuration: { baseURL }, temperature: 1 });
await step('langchainJsonSchema', async () => lc.withStructuredOutput(person, { method: 'jsonSchema', name: 'person' })
  .invoke('Who is it?'));
await step('langchainFunctionCalling', async () => lc.withStructuredOutput(person, { method: 'functionCalling', name: 'person' })
  .invoke('Who is it?'));

// The AI SDK (ai 6, @ai-sdk/deepseek): generateObject and toolChoice 'required'.
const deepseek = createDeepSeek({ baseURL, apiKey });
await step('aiGenerateObject', async () => (await generateObject({
  model: deepseek('deepseek-chat'), schema: person, prompt: 'Who is it?', temperature: 1,
})).object);
await step('aiToolChoiceRequired', async () => {
  const r = await generateText({
    model: deepseek('deepseek-chat'),
    prompt: 'Weather in Paris?',
    tools: { get_weather: tool({ description: 'The weather', inputSchema: z.object({ city: z.string().max(10) }) }) },
    toolChoice: 'required',
    temperature: 1,
  });
  return { calls: r.toolCalls.map((c) => ({ name: c.toolName, input: c.input })) };
});

console.log(JSON.stringify(out));
