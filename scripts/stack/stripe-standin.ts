// The local Stripe stand-in lives in ./stripe-standin/ (one job a file); this is its public face.
export {
  decodeStripeForm,
  type RecordedCall,
  type StripeStandin,
  type StripeStandinOptions,
  startStripeStandin,
} from "./stripe-standin/index.ts";
