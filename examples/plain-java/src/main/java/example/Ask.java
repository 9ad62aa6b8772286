package example;

import io.jseek.engine.Generation;
import io.jseek.engine.GenerationListener;
import io.jseek.engine.JinjaChatFormat;
import io.jseek.engine.LoadedModel;
import java.nio.file.Path;

/**
 * Loads a model, asks it one question and prints the answer, twice: with the model's own chat format and with
 * a Jinja template (the path that needs the engine's Jinja library and its Jackson at run time).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp … example.Ask MODEL.gguf '47+38+95='</pre>
 */
public final class Ask {
    public static void main(String[] args) {
        try (LoadedModel model = LoadedModel.open(Path.of(args[0]), 2)) {
            Generation g = model.chat(256).send(args[1], model.defaultOptions(64, 1), new GenerationListener() { });
            System.out.println("answer: " + g.content().strip());
            model.useFormat(new JinjaChatFormat("example", "{% for m in messages %}{{ m.content }}{% endfor %}",
                    model.bosText(), model.eosText()));
            Generation j = model.chat(256).send(args[1], model.defaultOptions(8, 1), new GenerationListener() { });
            System.out.println("through a Jinja template: " + j.generatedTokens() + " tokens");
        }
    }
}
