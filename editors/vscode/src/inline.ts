/**
 * Inline completion through vscode-languageclient, plus the partial-acceptance hook.
 *
 * The client's own inline completion feature registers a provider that has `provideInlineCompletionItems`
 * only, and its middleware has no hook for partial acceptance; VS Code looks for the provider's optional
 * methods when the provider is registered. So QuillLanguageClient replaces that feature with InlineFeature:
 * the same request, conversions and middleware, and `handleDidPartiallyAcceptCompletionItem`, which
 * reports `quill.accepted [id, acceptedLength]` (acceptance.ts).
 *
 * VS Code calls that hook only for extensions allowed its `inlineCompletionsAdditions` API proposal
 * (`enabledApiProposals` in package.json, in VS Code Insiders or with `--enable-proposed-api`), which an
 * extension on the Marketplace cannot declare; elsewhere only whole acceptances (the item's command) count.
 */
import { randomUUID } from "node:crypto";
import * as vscode from "vscode";
import {
  ClientCapabilities,
  DocumentSelector,
  DynamicFeature,
  ensure,
  FeatureClient,
  InlineCompletionOptions,
  InlineCompletionRegistrationOptions,
  InlineCompletionRequest,
  LanguageClient,
  Middleware,
  ServerCapabilities,
  StaticFeature,
  TextDocumentLanguageFeature,
} from "vscode-languageclient/node";

import { PartialAcceptances, PartialAcceptInfo } from "./acceptance";

/** VS Code's proposed hook (vscode.proposed.inlineCompletionsAdditions.d.ts), not in @types/vscode. */
export type InlineProvider = vscode.InlineCompletionItemProvider & {
  handleDidPartiallyAcceptCompletionItem(item: vscode.InlineCompletionItem, info: PartialAcceptInfo): void;
};

type Items = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

export class InlineFeature extends TextDocumentLanguageFeature<
  boolean | InlineCompletionOptions,
  InlineCompletionRegistrationOptions,
  InlineProvider,
  Middleware
> {
  private readonly partial: PartialAcceptances;

  /** `warn`: where a failed report goes (the client's output). */
  constructor(client: FeatureClient<Middleware>, warn: (message: string) => void) {
    super(client, InlineCompletionRequest.type);
    this.partial = new PartialAcceptances((command, ...args) => {
      vscode.commands.executeCommand(command, ...args).then(undefined, (err) => warn(`${command} failed: ${String(err)}`));
    });
  }

  fillClientCapabilities(capabilities: ClientCapabilities): void {
    ensure(ensure(capabilities, "textDocument")!, "inlineCompletion")!.dynamicRegistration = true;
  }

  initialize(capabilities: ServerCapabilities, documentSelector: DocumentSelector): void {
    const options = this.getRegistrationOptions(documentSelector, capabilities.inlineCompletionProvider);
    if (options) {
      this.register({ id: randomUUID(), registerOptions: options });
    }
  }

  protected registerLanguageProvider(options: InlineCompletionRegistrationOptions): [vscode.Disposable, InlineProvider] {
    const client = this._client;
    const request = async (
      document: vscode.TextDocument,
      position: vscode.Position,
      context: vscode.InlineCompletionContext,
      token: vscode.CancellationToken,
    ): Promise<Items> => {
      const params = client.code2ProtocolConverter.asInlineCompletionParams(document, position, context);
      try {
        const result = await client.sendRequest(InlineCompletionRequest.type, params, token);
        return token.isCancellationRequested ? null : client.protocol2CodeConverter.asInlineCompletionResult(result, token);
      } catch (error) {
        return client.handleFailedRequest(InlineCompletionRequest.type, token, error, null);
      }
    };
    const provider: InlineProvider = {
      provideInlineCompletionItems: (document, position, context, token) => {
        const middleware = client.middleware.provideInlineCompletionItems;
        return middleware ? middleware(document, position, context, token, request) : request(document, position, context, token);
      },
      handleDidPartiallyAcceptCompletionItem: (item, info) => this.partial.handle(item, info),
    };
    const selector = client.protocol2CodeConverter.asDocumentSelector(options.documentSelector ?? []);
    return [vscode.languages.registerInlineCompletionItemProvider(selector, provider), provider];
  }
}

/** A LanguageClient whose inline completion is InlineFeature (the built-in feature is swapped as it registers). */
export class QuillLanguageClient extends LanguageClient {
  registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const builtinInline =
      DynamicFeature.is(feature) &&
      feature.registrationType.method === InlineCompletionRequest.method &&
      !(feature instanceof InlineFeature);
    super.registerFeature(builtinInline ? new InlineFeature(this, (message) => this.warn(message)) : feature);
  }
}
