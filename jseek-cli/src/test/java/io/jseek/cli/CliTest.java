package io.jseek.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The command line, run in-process, against llama.cpp's reference data. */
class CliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path DATA = Path.of(System.getProperty("jseek.testdata", "../testdata"));

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    static Result run(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        InputStream oldIn = System.in;
        try {
            if (stdin != null) {
                System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            }
            int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setIn(oldIn);
        }
    }

    static Stream<String> models() throws IOException {
        try (Stream<Path> s = Files.list(DATA)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".json"))
                    .map(n -> n.substring(0, n.length() - 5)).filter(n -> Files.exists(DATA.resolve(n + ".gguf"))).sorted().toList().stream();
        }
    }

    static JsonNode json(String model) throws IOException {
        return JSON.readTree(DATA.resolve(model + ".json").toFile());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void tokenizePrintsLlamaCppsIdsInEveryMode(String model) throws IOException {
        String path = DATA.resolve(model + ".gguf").toString();
        for (JsonNode c : json(model).get("tokenization")) {
            String text = c.get("text").asText();
            if (text.isEmpty()) {
                continue; // an empty argument is "no text"; covered through -f below
            }
            for (int add = 0; add <= 1; add++) {
                for (int parse = 0; parse <= 1; parse++) {
                    List<String> args = new ArrayList<>(List.of("tokenize", "-m", path));
                    if (add == 0) {
                        args.add("--no-bos");
                    }
                    if (parse == 0) {
                        args.add("--no-special");
                    }
                    args.add("--");
                    args.add(text);
                    Result r = run(null, args.toArray(String[]::new));
                    assertEquals(0, r.code(), r.err());
                    JsonNode expected = c.get("ids").get("add_special=" + add + ",parse_special=" + parse);
                    assertEquals(expected, JSON.readTree(r.out()), text);
                }
            }
        }
    }

    @Test
    void tokenizeReadsFilesStdinAndJsonLines() throws IOException {
        JsonNode cases = json("ds3-f32").get("tokenization");
        String model = DATA.resolve("ds3-f32.gguf").toString();
        StringBuilder lines = new StringBuilder();
        StringBuilder expected = new StringBuilder();
        for (JsonNode c : cases) {
            lines.append(JSON.writeValueAsString(c.get("text").asText())).append('\n');
            expected.append(JSON.writeValueAsString(c.get("ids").get("add_special=1,parse_special=1"))).append('\n');
            Path f = tmp.resolve("t.txt");
            Files.writeString(f, c.get("text").asText());
            Result r = run(null, "tokenize", "-m", model, "-f", f.toString());
            assertEquals(c.get("ids").get("add_special=1,parse_special=1"), JSON.readTree(r.out()), r.err());
        }
        Result jsonl = run(lines.toString(), "tokenize", "-m", model, "--jsonl");
        assertEquals(0, jsonl.code(), jsonl.err());
        assertEquals(expected.toString(), jsonl.out().replace("\r\n", "\n"));

        Result stdin = run("Hello world", "tokenize", "-m", model, "-f", "-");
        assertEquals(JSON.readTree(run(null, "tokenize", "-m", model, "Hello world").out()), JSON.readTree(stdin.out()));
    }

    @Test
    void piecesShowEachTokensText() throws IOException {
        String model = DATA.resolve("ds2lite-f32.gguf").toString();
        Result r = run(null, "tokenize", "-m", model, "--pieces", "Hello <think> é");
        assertEquals(0, r.code(), r.err());
        JsonNode pieces = JSON.readTree(r.out());
        StringBuilder text = new StringBuilder();
        for (int i = 1; i < pieces.size(); i++) {
            text.append(pieces.get(i).get("piece").asText());
        }
        assertEquals(956, pieces.get(0).get("id").asInt());
        assertEquals("<｜begin▁of▁sentence｜>", pieces.get(0).get("piece").asText());
        assertEquals("Hello <think> é", text.toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void infoReportsParametersFromTheTensorTable(String model) throws IOException {
        JsonNode j = json(model);
        long total = 0;
        long routed = 0;
        for (JsonNode t : j.get("tensors")) {
            long n = 1;
            for (JsonNode d : t.get("ne")) {
                n *= d.asLong();
            }
            total += n;
            if (t.get("name").asText().contains("_exps")) {
                routed += n;
            }
        }
        Result r = run(null, "info", DATA.resolve(model + ".gguf").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("architecture     " + j.get("arch").asText()), r.out());
        assertTrue(r.out().contains("tensors          " + j.get("tensors").size() + ":"), r.out());
        assertTrue(r.out().contains("parameters       " + InfoCommand.count(total)), r.out());
        if (routed > 0) {
            JsonNode cfg = j.get("generator").get("resolved_config");
            long active = total - routed + routed / cfg.get("n_expert").asLong() * cfg.get("n_expert_used").asLong();
            assertTrue(r.out().contains(InfoCommand.count(active) + " active per token"), r.out());
        }
    }

    @Test
    void infoGivesTheMlaCacheSize() {
        // V2-Lite-like MLA: 3 layers x (kv_lora 64 + rope 16) values x 2 bytes = 480 B per token at F16;
        // at Q8_0 the 80 values take 3 blocks of 34 bytes: 306 B.
        Result mla = run(null, "info", DATA.resolve("ds2lite-f32.gguf").toString());
        assertTrue(mla.out().contains("480 bytes per token at F16"), mla.out());
        assertTrue(mla.out().contains("306 at Q8_0, 960 at F32"), mla.out());
        // The same weights in the legacy attn_kv_b layout: jseek caches the latent there too (llama.cpp's MHA
        // mode for such files caches every head's K and V, 1920 B; jseek's info once said so).
        Result legacy = run(null, "info", DATA.resolve("ds2lite-kvb-f16.gguf").toString());
        assertTrue(legacy.out().contains("480 bytes per token at F16"), legacy.out());
    }

    /** --spec gives the same text and says what the drafts did; bad modes and draft models are named. */
    @Test
    void speculationKeepsTheAnswerAndExplainsBadModes() {
        String model = DATA.resolve("r1qwen-q8_0.gguf").toString();
        String[] base = {"run", "-m", model, "--raw", "--temp", "0", "-n", "24", "-t", "1", "-p", "the cat the cat the cat the"};
        Result plain = run(null, base);
        assertEquals(0, plain.code(), plain.err());
        for (String spec : new String[] {"ngram:4", "draft:" + DATA.resolve("r1qwen-f32.gguf")}) {
            String[] args = java.util.Arrays.copyOf(base, base.length + 2);
            args[base.length] = "--spec";
            args[base.length + 1] = spec;
            Result r = run(null, args);
            assertEquals(0, r.code(), r.err());
            assertEquals(plain.out(), r.out(), spec);
            if (spec.startsWith("draft:")) {
                // The F32 original drafting for its Q8_0 copy: it always proposes, and most is kept.
                assertTrue(r.err().matches("(?s).*drafts: \\d+ of \\d+ kept.*"), spec + ": " + r.err());
            }
        }
        Result bad = run(null, "run", "-m", model, "-p", "x", "--spec", "magic");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--spec: unknown speculation \"magic\""), bad.err());
        Result missing = run(null, "run", "-m", model, "-p", "x", "--spec", "draft:" + tmp.resolve("none.gguf"));
        assertTrue(missing.err().contains("--spec: no draft model at"), missing.err());
        Result vocab = run(null, "run", "-m", model, "-p", "x", "--spec", "draft:" + DATA.resolve("ds3-q4_0.gguf"));
        assertTrue(vocab.err().contains("has another vocabulary"), vocab.err());
        Result noBlock = run(null, "run", "-m", model, "-p", "x", "--spec", "mtp");
        assertEquals(1, noBlock.code());
        assertTrue(noBlock.err().contains("has no multi-token-prediction block"), noBlock.err());
    }

    /** The embedded model drafts with its own MTP block: the same answer, and its drafts are mostly kept. */
    @Test
    void theEmbeddedModelDraftsWithItsMtpBlock() {
        Result plain = run(null, "run", "--temp", "0", "-t", "1", "-p", "47+38+95=");
        Result mtp = run(null, "run", "--temp", "0", "-t", "1", "-p", "47+38+95=", "--spec", "mtp");
        assertEquals(0, mtp.code(), mtp.err());
        assertEquals(plain.out(), mtp.out());
        assertTrue(mtp.out().contains("<answer>180</answer>"), mtp.out());
        assertTrue(mtp.err().matches("(?s).*drafts: \\d+ of \\d+ kept.*"), mtp.err());
        Result info = run(null, "info");
        assertTrue(info.out().contains("+ 1 multi-token-prediction block"), info.out());
    }

    @Test
    void theEmbeddedDefaultModelNeedsNoArguments() {
        Result info = run(null, "info");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("embedded default model, see models/MODEL_CARD.md;"), info.out());
        assertTrue(info.out().contains("deepseek2"), info.out());
        Result tok = run(null, "tokenize", "12+3=");
        assertEquals(0, tok.code(), tok.err());
        assertEquals("[0,25,26,19,27,37]", tok.out().strip(), "BOS, then one token per character");
    }

    @Test
    void errorsAreOneLineWithANonZeroExit() throws IOException {
        Result missing = run(null, "info", tmp.resolve("nope.gguf").toString());
        assertEquals(1, missing.code());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        assertTrue(missing.err().contains("nope.gguf: no such file"), missing.err());

        Path corrupt = tmp.resolve("corrupt.gguf");
        byte[] good = Files.readAllBytes(DATA.resolve("r1qwen-q8_0.gguf"));
        Files.write(corrupt, java.util.Arrays.copyOf(good, 1000));
        Result truncated = run(null, "tokenize", "-m", corrupt.toString(), "x");
        assertEquals(1, truncated.code());
        assertTrue(truncated.err().startsWith("jseek tokenize: error: corrupt.gguf: truncated or corrupt"), truncated.err());
        assertEquals(1, truncated.err().strip().lines().count(), truncated.err());

        Result badLine = run("\"ok\"\nnot json\n", "tokenize", "--jsonl");
        assertEquals(1, badLine.code());
        assertTrue(badLine.err().contains("line 2"), badLine.err());

        Path latin1 = tmp.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9});
        Result notUtf8 = run(null, "tokenize", "-f", latin1.toString());
        assertEquals(1, notUtf8.code());
        assertTrue(notUtf8.err().contains("not valid UTF-8"), notUtf8.err());

        assertEquals(2, run(null, "tokenize").code());
        assertEquals(2, run(null, "info", "--no-such-option").code());
        assertEquals(2, run(null, "no-such-command").code());
    }

    @Test
    void logitsWritesLlamaCppsRowsInBothFeedingModes() throws IOException {
        JsonNode j = json("ds3-f32");
        JsonNode seq = j.get("sequences").get(0);
        int vocab = j.get("n_vocab").asInt();
        StringBuilder ids = new StringBuilder();
        seq.get("tokens").forEach(t -> ids.append(ids.isEmpty() ? "" : ",").append(t.asInt()));
        byte[] all = Files.readAllBytes(DATA.resolve("ds3-f32.logits.f32"));
        java.nio.FloatBuffer ref = java.nio.ByteBuffer.wrap(all).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (String mode : List.of("--threads=1", "--step")) {
            Path out = tmp.resolve("logits.f32");
            Result r = run(null, "logits", "-m", DATA.resolve("ds3-f32.gguf").toString(), "--tokens", ids.toString(),
                    "-o", out.toString(), mode);
            assertEquals(0, r.code(), r.err());
            java.nio.FloatBuffer got = java.nio.ByteBuffer.wrap(Files.readAllBytes(out)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            assertEquals(seq.get("tokens").size() * vocab, got.remaining());
            int off = seq.get("logits_offset").asInt();
            for (int i = 0; i < got.remaining(); i++) {
                assertTrue(Math.abs(got.get(i) - ref.get(off + i)) <= 1e-4, mode + " value " + i);
            }
        }
        Result bad = run(null, "logits", "--tokens", "1,x", "-o", tmp.resolve("x").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("\"x\" is not a token id"), bad.err());
        Result range = run(null, "logits", "--tokens", "99999", "-o", tmp.resolve("x").toString());
        assertEquals(1, range.code());
        assertTrue(range.err().contains("token id 99999 is out of range"), range.err());
    }

    /** Greedy `run --raw` on the "short" prompt prints llama.cpp's greedy continuation. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("floatModels")
    void runGreedyPrintsLlamaCppsContinuation(String model) throws IOException {
        JsonNode j = json(model);
        String text = JSON.readTree(DATA.resolve("specs.json").toFile()).get("short_text").asText();
        JsonNode seq = j.get("sequences").get(0);
        assertEquals("short", seq.get("name").asText());
        try (var f = io.jseek.core.gguf.GgufFile.open(DATA.resolve(model + ".gguf"))) {
            var tok = io.jseek.core.tokenizer.Tokenizer.fromGguf(f.metadata());
            int[] prompt = tok.encode(text, true, true);
            assertEquals(seq.get("tokens").toString(), JSON.valueToTree(prompt).toString());
            int[] greedy = new int[seq.get("greedy").get("tokens").size()];
            for (int i = 0; i < greedy.length; i++) {
                greedy[i] = seq.get("greedy").get("tokens").get(i).asInt();
                if (tok.isEndOfGeneration(greedy[i]) || tok.text(greedy[i]).contains("think>")) {
                    return; // the continuation would stop or switch to reasoning; other models cover this
                }
            }
            Result r = run(null, "run", "-m", DATA.resolve(model + ".gguf").toString(), "--raw", "--temp", "0",
                    "-n", String.valueOf(greedy.length), "-p", text);
            assertEquals(0, r.code(), r.err());
            assertEquals(tok.decode(greedy, false) + System.lineSeparator(), r.out());
            assertTrue(r.err().contains("generated: " + greedy.length + " tokens"), r.err());
        }
    }

    static Stream<String> floatModels() throws IOException {
        return models().filter(m -> m.endsWith("-f32"));
    }

    @Test
    void chatReadsTurnsFromAPipe() {
        Result r = run("Hi\n/system Be brief.\nTell me a joke.\n/reset\nAgain\n/exit\nnever read\n", "chat",
                "-m", DATA.resolve("ds3-f32.gguf").toString(), "-n", "8", "--seed", "3");
        assertEquals(0, r.code(), r.err());
        assertEquals(3, r.err().lines().filter(l -> l.startsWith("prompt: ")).count(), r.err());
        assertTrue(r.out().contains("(system prompt set)") && r.out().contains("(conversation cleared)"), r.out());
        assertTrue(r.out().contains("<think>"), r.out());
    }

    @Test
    void runRejectsBadSettings() {
        assertEquals(2, run(null, "run").code());
        Result temp = run(null, "run", "-p", "x", "--top-p", "0");
        assertEquals(1, temp.code());
        assertTrue(temp.err().contains("top-p"), temp.err());
        Result ctx = run(null, "run", "-p", "word ".repeat(50), "--ctx", "16");
        assertEquals(1, ctx.code());
        assertTrue(ctx.err().contains("context holds 16"), ctx.err());
    }

    @Test
    void cacheTypeIsSpelledAsLlamaCppSpellsIt() {
        for (String type : List.of("q8_0", "Q8_0", "f16")) {
            Result r = run(null, "run", "-p", "12+3=", "-n", "2", "--cache-type", type);
            assertEquals(0, r.code(), type + ": " + r.err());
        }
        Result bad = run(null, "run", "-p", "12+3=", "--cache-type", "q4_0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--cache-type"), bad.err());
    }

    @Test
    void helpExplainsEveryCommand() {
        Result help = run(null, "--help");
        assertEquals(0, help.code());
        for (String cmd : List.of("run", "chat", "info", "tokenize", "logits", "bench")) {
            assertTrue(help.out().contains(cmd), help.out());
            Result sub = run(null, cmd, "--help");
            assertEquals(0, sub.code());
            assertTrue(sub.out().startsWith("Usage: jseek " + cmd), sub.out());
        }
    }

    @Test
    void quantizeWritesAModelTheOtherCommandsRun() {
        Path out = tmp.resolve("ds2lite-q8_0.gguf");
        Result q = run(null, "quantize", DATA.resolve("ds2lite-f32.gguf").toString(), out.toString(), "q8_0");
        assertEquals(0, q.code(), q.err());
        assertTrue(q.out().contains("Q8_0") && q.err().contains("-> Q8_0"), q.out() + q.err());
        Result info = run(null, "info", out.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("Q8_0"), info.out());
        Result r = run(null, "run", "-m", out.toString(), "--raw", "--temp", "0", "-n", "4", "-p", "hello");
        assertEquals(0, r.code(), r.err());
        Result bad = run(null, "quantize", DATA.resolve("ds2lite-f32.gguf").toString(), out.toString(), "Q3_X");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("unknown type 'Q3_X'"), bad.err());
        Result same = run(null, "convert", out.toString(), "-o", out.toString());
        assertEquals(1, same.code());
        assertTrue(same.err().contains("would overwrite the input"), same.err());
    }

    @Test
    void pullRejectsABadReferenceBeforeTheNetwork() {
        Result r = run(null, "pull", "not a repo");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("not a Hugging Face repository"), r.err());
        Result m = run(null, "info", "-m", "hf:bad");
        assertEquals(1, m.code());
        assertTrue(m.err().contains("not a Hugging Face repository"), m.err());
    }
}
