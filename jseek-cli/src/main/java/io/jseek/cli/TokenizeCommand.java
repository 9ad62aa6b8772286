package io.jseek.cli;

import io.jseek.core.JseekException;
import io.jseek.model.ModelFiles;
import io.jseek.core.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code jseek tokenize}: text to token ids, exactly as llama.cpp's llama_tokenize does it. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the token ids of TEXT as a JSON array.", "",
            "By default BOS is added (if the model asks for it) and special-token texts such as <｜User｜> become "
                + "their tokens. <think> and other user-defined tokens are always recognised. The ids are exactly "
                + "llama.cpp's (llama_tokenize with add_special and parse_special)."},
        footer = {"", "Examples:",
            "  jseek tokenize -m model.gguf 'Hello world'",
            "  jseek tokenize --pieces 'Hello world'",
            "  jseek tokenize -f prompt.txt",
            "  printf '\"one\"\\n\"two\"\\n' | jseek tokenize --jsonl"})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--no-bos", description = "Do not add BOS (nor EOS) to the text.")
    boolean noBos;

    @Option(names = "--no-special", description = "Treat control-token texts (e.g. <｜User｜>) as plain text.")
    boolean noSpecial;

    @Option(names = "--pieces", description = "Print [{\"id\": …, \"piece\": …}] with each token's text; a piece "
            + "that is only part of a UTF-8 character also gets \"bytes\" (hex).")
    boolean pieces;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE|-", description = "Read the text from FILE, or from standard input with -.")
    String file;

    @Option(names = "--jsonl", description = "Tokenize many texts in one process: each input line is a JSON string, "
            + "each output line the JSON array of its ids. Reads standard input, or FILE with -f.")
    boolean jsonl;

    @Parameters(arity = "0..1", paramLabel = "TEXT", description = "The text to tokenize.")
    String text;

    @Override
    public Integer call() throws IOException {
        if (text != null && (file != null || jsonl)) {
            throw new ParameterException(spec.commandLine(), "give TEXT, or -f FILE, or --jsonl, not several");
        }
        if (text == null && file == null && !jsonl) {
            throw new ParameterException(spec.commandLine(), "no text: give TEXT, or -f FILE (- for standard input), or --jsonl");
        }
        Tokenizer tokenizer = Tokenizer.fromGguf(ModelFiles.tokenizerKeys(modelOption.resolve()));
        PrintWriter out = spec.commandLine().getOut();
        if (jsonl) {
            try (InputStream in = open(file == null ? "-" : file);
                 BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                         .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)))) {
                String line;
                int n = 0;
                while ((line = readLine(r, n + 1)) != null) {
                    n++;
                    String s;
                    try {
                        s = Json.parseString(line);
                    } catch (IllegalArgumentException e) {
                        throw new JseekException("line " + n + ": " + e.getMessage());
                    }
                    out.println(render(tokenizer, s));
                    out.flush();
                }
            }
            return 0;
        }
        String input = text != null ? text : readAll(file);
        out.println(render(tokenizer, input));
        return 0;
    }

    private String render(Tokenizer tokenizer, String s) {
        int[] ids = tokenizer.encode(s, !noBos, !noSpecial);
        if (!pieces) {
            return Json.array(ids);
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ids.length; i++) {
            byte[] piece = tokenizer.piece(ids[i], true);
            sb.append(i == 0 ? "" : ", ").append("{\"id\": ").append(ids[i]).append(", \"piece\": ")
                    .append(Json.quote(new String(piece, StandardCharsets.UTF_8)));
            if (!validUtf8(piece)) {
                sb.append(", \"bytes\": \"").append(java.util.HexFormat.of().formatHex(piece)).append('"');
            }
            sb.append('}');
        }
        return sb.append(']').toString();
    }

    private static boolean validUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static String readLine(BufferedReader r, int lineNo) {
        try {
            return r.readLine();
        } catch (CharacterCodingException e) {
            throw new JseekException("line " + lineNo + ": input is not valid UTF-8");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream open(String file) throws IOException {
        if (file.equals("-")) {
            return System.in;
        }
        try {
            return Files.newInputStream(Path.of(file));
        } catch (NoSuchFileException e) {
            throw new JseekException(file + ": no such file");
        }
    }

    private static String readAll(String file) throws IOException {
        byte[] bytes;
        try (InputStream in = open(file)) {
            bytes = in.readAllBytes();
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new JseekException((file.equals("-") ? "standard input" : file) + " is not valid UTF-8 text");
        }
    }
}
