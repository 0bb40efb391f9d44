export { classifyAddress, isForbiddenAddress, type AddressClassification } from './address-policy';
export { AllowListError, parseAllowList, type AllowList } from './allow-list';
export { type HostResolver, type ResolvedAddress } from './address-guard';
export {
  OutboundClient,
  type OutboundClientOptions,
  type OutboundRequest,
  type OutboundResponse,
  type RedirectMode,
} from './outbound-client';
export { OutboundError, type OutboundErrorCode } from './outbound-error';
