package io.jseek.bench;

import io.jseek.core.gguf.GgufFile;
import io.jseek.core.tokenizer.Tokenizer;
import io.jseek.engine.OutputConstraint;
import io.jseek.engine.grammar.JsonSchemaGrammar;
import io.jseek.engine.grammar.TokenMask;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a grammar costs per generated token, on a model's vocabulary ({@code -p model=FILE.gguf}; the Qwen
 * distills' 151,936 tokens are the case that matters). A JSON schema answer is stopped in one of three states:
 * {@code key} (after the object's '{': few tokens fit), {@code string} (inside a string value: nearly every token
 * fits) and {@code number} (inside an integer with bounds).
 *
 * <ul>
 *   <li>{@code mask}: the whole vocabulary's mask ({@link TokenMask}), what a step costs when the sampled token
 *   breaks the grammar (a model that does not follow it; every step for a random-weight one).</li>
 *   <li>{@code check}: one token checked, what a step costs when the model's own choice fits (the usual case).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GrammarBench {
    private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
            + "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":150},\"tags\":{\"type\":\"array\","
            + "\"items\":{\"type\":\"string\"}}},\"required\":[\"name\",\"age\"]}";

    @Param("")
    public String model;

    @Param({"key", "string", "number"})
    public String state;

    private Tokenizer tokenizer;
    private TokenMask mask;
    private TokenMask.Scratch scratch;
    private OutputConstraint.Matcher matcher;
    private OutputConstraint.Matcher trial;
    private boolean[] allowed;
    private byte[] fits;

    @Setup
    public void setUp() {
        if (model.isEmpty()) {
            throw new IllegalArgumentException("give -p model=FILE.gguf (a model whose vocabulary to measure)");
        }
        try (GgufFile f = GgufFile.open(Path.of(model))) {
            tokenizer = Tokenizer.fromGguf(f.metadata());
        }
        mask = TokenMask.of(tokenizer);
        matcher = JsonSchemaGrammar.constraint(SCHEMA).start();
        String prefix = switch (state) {
            case "key" -> "{";
            case "string" -> "{\"name\": \"Ada Lov";
            default -> "{\"name\": \"Ada\", \"age\": 1";
        };
        matcher.feed(prefix.getBytes(StandardCharsets.UTF_8));
        trial = matcher.copy();
        scratch = mask.scratch(matcher);
        allowed = new boolean[tokenizer.pieces().length];
        fits = (state.equals("key") ? " \"" : state.equals("string") ? "ace" : "2").getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    public int mask() {
        return mask.allowed(matcher, scratch, allowed);
    }

    @Benchmark
    public boolean check() {
        trial.copyFrom(matcher);
        return trial.feed(fits);
    }
}
